"""`python -m facetrail.event_schemas`: regenerate the shipped JSON Schema files from the payload models."""

from facetrail.event_schemas import write_schemas

for path in write_schemas():
    print(path)
