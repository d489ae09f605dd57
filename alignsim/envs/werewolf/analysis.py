"""The werewolf family analysis (slot: written on its own branch; nothing is registered from here yet)."""
