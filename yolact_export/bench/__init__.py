"""yolact-bench: every export path timed side by side on the same images (cli -> run -> report)."""
