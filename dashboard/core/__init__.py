"""What every area shares and is not DynamoDB: health checks, request logging, …"""
