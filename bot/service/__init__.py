"""Running medbot: runtime config files and the process supervisor."""
