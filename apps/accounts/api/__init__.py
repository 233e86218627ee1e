"""API pieces of the accounts app shared by the other apps' APIs."""
