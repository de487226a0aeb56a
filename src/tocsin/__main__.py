"""`python -m tocsin` runs the CLI."""

from tocsin.cli.main import main

if __name__ == "__main__":
    main()
