"""What every area shares and is not DynamoDB (see DESIGN.md)."""
