from functions.cli.main import script

script()
