import Foundation

/// The release of this binary (`madoguchi --version`), with the schema steps it knows.
public enum MadoguchiRelease {
    public static let version = "0.21.0"

    public static var description: String {
        let data = Migrations.all.map(\.version).max() ?? 0
        let keys = SubjectKeyStore.migrations.map(\.version).max() ?? 0
        return "madoguchi \(version) (schema \(data), key store schema \(keys))"
    }
}
