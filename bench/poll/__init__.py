"""Poll benchmark: a feed corpus generator, a feed server and the runner."""
