"""Export episode logs to other tools' formats (Inspect AI's eval log: :mod:`.inspect`)."""
