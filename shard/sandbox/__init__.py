"""The offline sandbox console: the bot against the local emulator, driven by lines typed like Discord's.

`shard.sandbox.parser` reads console lines (DESIGN §9) into commands; `shard.sandbox.render` turns the bot's
replies into text with numbered components. Both are pure; the console loop that wires them to the emulator
and the bot lives beside them once the emulator's scripting API is in place.
"""
