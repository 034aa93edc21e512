"""Stage 7, text and JSON for people and scripts: `info` tables, path histograms, comparisons, the docs' tables.

Every function takes an Architecture (or its graph) and returns text or data;
none of them imports the Architecture facade.
"""
