"""Allow ``python -m bot`` as an alias of the ``clinicbot`` command."""

from bot.cli import main

if __name__ == "__main__":
    main()
