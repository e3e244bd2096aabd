"""deputy from Python in a dozen lines: a service-account read and a refused webhook write.

Run against a local vault (see the README's "From Python"):
    DEPUTY_VAULT_ENDPOINT=http://127.0.0.1:8787 python quickstart.py
"""

import os

import deputy


def main() -> None:
    endpoint = os.environ.get("DEPUTY_VAULT_ENDPOINT", "http://127.0.0.1:8787")
    resolver = deputy.Resolver("deputy-agent", endpoint=endpoint)

    # A headless task reads Linear with the service account (machine-to-machine).
    token = resolver.resolve_linear_token(deputy.Task.headless("quickstart-1"), "read")
    print(f"linear read: {token}")  # the fingerprint, flow and rule; never the value
    assert token.reveal() not in repr(token)

    # A webhook only asserts its user: the decision table refuses AWS writes for it.
    webhook = deputy.Task.webhook("quickstart-2", user="dev+alice")
    try:
        resolver.resolve_aws_native_token(webhook, "write")
    except deputy.PolicyDenied as refused:
        print(f"aws-native write for dev+alice: refused by rule {refused.rule_id}")


if __name__ == "__main__":
    main()
