"""What service systems touch: client registry, token endpoint, connector API, SDK.

Empty until the consent and connector issues land.
"""
