// Package awsfake is an in-process fake of the AWS services Rampart talks
// to — Secrets Manager, SSM Parameter Store and KMS — speaking the AWS JSON
// 1.1 protocol (POST /, X-Amz-Target "secretsmanager.<Op>",
// "AmazonSSM.<Op>" or "TrentService.<Op>", application/x-amz-json-1.1,
// errors as {"__type": ..., "message": ...} with AWS's HTTP status) so the
// real aws-sdk-go-v2 clients can be pointed at it with BaseEndpoint and
// static dummy credentials (see Fake.AWSConfig).
//
// It implements the semantics Rampart relies on — versions, staging labels
// and their movement, ClientRequestToken idempotency, deletion windows,
// SecureString decryption, KMS data keys bound to an encryption context,
// key aliases and scheduled key deletion — and can inject
// ThrottlingException to exercise the SDK's retries. It does not verify
// SigV4 signatures (it checks one is present).
package awsfake
