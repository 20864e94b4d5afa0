// Reserved for small progressive enhancements; every page works without it.
