"""Feed loaders and the `linkage` command line."""
