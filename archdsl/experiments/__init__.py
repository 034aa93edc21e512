"""The literature's experiments on any spec with residual structure (needs torch and `archdsl[experiments]`).

    data             digits (scikit-learn), a tensor file or an image folder, fitted to the spec's input
    train            SGD with momentum, weight decay, a step or cosine schedule, a progress bar
    lesion           delete residual blocks (their shortcuts run alone), or bypass plain layers
    reorder          permute blocks within their stage at a controlled Kendall tau
    effective_paths  Veit et al.'s gradient magnitude by path length, weighted by the exact path counts
    plots            the figures (matplotlib, Agg)

They run on `Architecture.to_torch()` and the IR's records (residual units,
roles, path counts); the transforms `without`, `reordered` and `bypassed`
change the graph, never a generated module. Import the submodules directly:
this package's root imports nothing, so the CLI can list the commands without
loading torch.
"""
