"""What MWAA runs besides the DAGs: the startup script, the image's package list, and the wheel builder."""
