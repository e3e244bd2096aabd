//! A local emulator of the Amazon Bedrock AgentCore Identity Token Vault, with a development IdP.
