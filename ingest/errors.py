class IngestError(Exception):
    """A file that cannot be turned into a document; carries the file, the stage and a plain reason."""

    def __init__(self, source: str, stage: str, reason: str):
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.stage = stage
        self.reason = reason
