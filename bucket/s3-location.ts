/** `s3://bucket/prefix/`, as S3ObjectStore.location has it: a key prefix always ends with one `/`. */
export function s3Location(bucket: string, prefix: string | undefined): string {
  return `s3://${bucket}/${normalizedS3Prefix(prefix)}`;
}

/** The key prefix as the S3 adapter prepends it: '' or ending with exactly one `/`. */
export function normalizedS3Prefix(prefix: string | undefined): string {
  return prefix ? prefix.replace(/\/*$/, '/') : '';
}
