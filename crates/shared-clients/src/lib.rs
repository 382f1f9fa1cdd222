//! LlamaStack client, request-API client and chat client.
