"""Pure domain: models, the asset registry, consensus and the error tree. No I/O."""
