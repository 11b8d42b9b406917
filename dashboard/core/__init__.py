"""What every area shares and is not DynamoDB: input cleaning, http helpers, middleware."""
