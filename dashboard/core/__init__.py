"""What every area shares and is not DynamoDB: errors, clock, ids, http helpers, health, logging."""
