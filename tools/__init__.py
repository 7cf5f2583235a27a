"""Development and measurement tools (data generator, offline evaluation, benchmark); never in the image."""
