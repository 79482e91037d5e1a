"""Exchange with other systems: eCH standards and, later, the intermediate format."""
