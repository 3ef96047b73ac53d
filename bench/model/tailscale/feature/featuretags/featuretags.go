// mtts-frontend e2e fixture: a placeholder for Tailscale's
// feature/featuretags package. Its feature table is in features.tsv.

package featuretags
