"""A person's data: what we export about them, how they are forgotten, and how long raw webhooks are kept.

``traces`` knows what identifies a person in stored text and how to scrub it; ``forget`` erases a
person from every table (``sweep`` is its net over every text column); ``export`` gathers what is
stored about them; ``retention`` empties the bodies of processed webhook deliveries once they are
old. The policy is written down in docs/privacy.md.
"""
