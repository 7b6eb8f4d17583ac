import type { AwsCredentials, CredentialProvider } from './sign.ts';

/**
 * The AWS default credential chain (environment, web identity for IRSA and EKS Pod Identity,
 * shared config, container and instance metadata), for bedrock backends without a
 * credentialsRef. The one impure piece of the bedrock adapter: it reads the environment and
 * files and calls AWS. Loaded on first use, so proxies without such a backend never load it.
 * The adapter caches what it returns and asks again before expiry.
 */
let chain: (() => Promise<AwsCredentials>) | undefined;

export const awsDefaultCredentials: CredentialProvider = async () => {
  if (!chain) {
    const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
    chain = fromNodeProviderChain();
  }
  return chain();
};
