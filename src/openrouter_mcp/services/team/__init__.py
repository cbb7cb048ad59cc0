"""The team server's users as the server sees them: a stored user row made into a `core.identity.User`,
with the user's own OpenRouter key kept encrypted at rest (`keys`)."""

from .keys import SecretKeyError as SecretKeyError
from .keys import decrypt as decrypt
from .keys import encrypt as encrypt
from .keys import user_from_row as user_from_row
