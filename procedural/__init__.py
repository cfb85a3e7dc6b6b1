"""A procedural dynamics domain: scenes of flat shapes, actions with known text, their renders."""
