"""Processing provider and algorithms of the plugin (``cloud_fcn:*``)."""
