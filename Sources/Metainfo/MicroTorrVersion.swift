/// The product version, written into `created by` and printed by `--version`.
public enum MicroTorrVersion {
    public static let string = "0.1.0"
    /// `created by` value for metainfo files we write.
    public static let createdBy = "MicroTorr/\(string)"
}
