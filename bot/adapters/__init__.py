"""Chat surfaces, one module or package each: thin translations between a surface and the handlers."""
