"""`ips-partner`: a partner organisation publishes its peer support hours from a CSV file.

It runs on the partner's own machine and depends on the event contracts alone
(`ips_shared.contracts`): `rows` reads and checks the file, `ids` gives each row its stable
event id, `publishing` sends the reports and collects the answers, `summary` words the
outcome and `cli` is the command.
"""
