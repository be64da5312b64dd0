"""Crash safety: `briefbot run` killed with SIGKILL at random moments, restarted, checked."""
