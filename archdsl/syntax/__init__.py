"""Stage 1, text -> AST: the .arch grammar and parser, the YAML form, and imports.

    grammar.lark   the .arch syntax (LALR; tables shipped as grammar.lark.json, see tables.py)
    parser.py      .arch text -> AST (ast.py), a span on every node
    yaml_form.py   YAML -> the same AST
    loader.py      a spec file and its imports -> one Program (loader.load_program)
"""
