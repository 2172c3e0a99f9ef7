"""`make preflight`: read-only checks of the AWS account and region before `make deploy`.

A template cannot know whether the account is bootstrapped, whether a public SSM parameter exists in the region,
how many Availability Zones the region offers or how much of a quota is already used; these checks ask the account.
"""
