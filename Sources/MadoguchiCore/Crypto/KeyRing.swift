import Crypto
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The installation's master keys and the keys derived from them.
///
/// The key file holds one base64 key (32 bytes) per line; the last line is the current master key, which wraps new
/// person keys, and earlier lines still unwrap older ones (rotation re-wraps, it never re-encrypts data). Keys for
/// the blind index, sessions, CSRF tokens and signed links are derived (HKDF-SHA256) from the *first* line, so a
/// rotation never changes how people are found.
public struct KeyRing: Sendable {
    /// A master key and its stable id (a hash of the key, never the key).
    public struct MasterKey: Sendable {
        public let id: String
        public let key: SymmetricKey
    }

    public let masterKeys: [MasterKey]
    public var current: MasterKey { masterKeys[masterKeys.count - 1] }
    public let blindIndexKey: SymmetricKey
    public let csrfKey: SymmetricKey
    public let sessionKey: SymmetricKey
    public let linkKey: SymmetricKey
    /// Keys the hashes of one-time verification codes (a stolen database does not let codes be checked offline).
    public let codeKey: SymmetricKey
    /// Keys the audit log's hash chain: someone with the database alone cannot re-hash a changed or cut chain.
    public let auditKey: SymmetricKey
    /// Signs the one-click unsubscribe links of campaign mail.
    public let unsubscribeKey: SymmetricKey

    /// Builds a ring from raw 32-byte keys, oldest first.
    public init(keys: [SymmetricKey]) throws(KeyRingError) {
        guard !keys.isEmpty else { throw KeyRingError(ja: "鍵ファイルに鍵がありません", en: "the key file holds no key") }
        guard keys.allSatisfy({ $0.bitCount == 256 }) else {
            throw KeyRingError(ja: "マスター鍵はどれも 32 バイト(256 ビット)にしてください", en: "every master key must be 32 bytes (256 bits)")
        }
        masterKeys = keys.map { key in
            let digest = SHA256.hash(data: Data("madoguchi master key id".utf8) + key.withUnsafeBytes { Data($0) })
            return MasterKey(id: Hex.encode(digest.prefix(8)), key: key)
        }
        let root = keys[0]
        func derive(_ label: String) -> SymmetricKey {
            HKDF<SHA256>.deriveKey(inputKeyMaterial: root, salt: Data("madoguchi".utf8), info: Data(label.utf8), outputByteCount: 32)
        }
        blindIndexKey = derive("blind index v1")
        csrfKey = derive("csrf v1")
        sessionKey = derive("session v1")
        linkKey = derive("signed link v1")
        codeKey = derive("verification code v1")
        auditKey = derive("audit chain v1")
        unsubscribeKey = derive("unsubscribe link v1")
    }

    /// Parses the key file's text: one base64 key per line, blank lines and `#` comments ignored.
    public init(fileText: String) throws(KeyRingError) {
        var keys: [SymmetricKey] = []
        for (index, rawLine) in fileText.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let data = Data(base64Encoded: line), data.count == 32 else {
                throw KeyRingError(
                    ja: "鍵ファイルの \(index + 1) 行目が base64 で書いた 32 バイトの鍵ではありません",
                    en: "line \(index + 1) of the key file is not a base64-encoded 32-byte key"
                )
            }
            keys.append(SymmetricKey(data: data))
        }
        try self.init(keys: keys)
    }

    /// Finds a master key by id (for unwrapping keys wrapped before a rotation).
    public func masterKey(id: String) -> MasterKey? {
        masterKeys.first { $0.id == id }
    }

    /// A new random master key in the key file's format.
    public static func generateKeyLine() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// Loads the ring from `MADOGUCHI_MASTER_KEY` (base64) if given, else from the key file, creating the file
    /// (mode 0600) with a new key when `createIfMissing` — the embedded default, announced in the log.
    public static func load(path: String, environmentKey: String?, createIfMissing: Bool, logger: Logger) throws -> KeyRing {
        if let environmentKey {
            return try KeyRing(fileText: environmentKey)
        }
        let manager = FileManager.default
        if !manager.fileExists(atPath: path) {
            guard createIfMissing else { throw KeyRingError(ja: "鍵ファイル \(path) がありません", en: "the key file \(path) does not exist") }
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            try manager.createDirectory(
                atPath: directory,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
            let text =
                "# Madoguchi master key. Back it up apart from the data; without it nothing can be decrypted.\n"
                + generateKeyLine() + "\n"
            if try createExclusively(path: path, contents: Data(text.utf8)) {
                logger.notice("created a new master key file; back it up apart from the database", metadata: ["path": "\(path)"])
            }
        }
        let attributes = try manager.attributesOfItem(atPath: path)
        if let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0 {
            throw KeyRingError(
                ja: "鍵ファイル \(path) を他のユーザーが読めます(モード \(String(mode, radix: 8)))。chmod 600 \(path) を実行してください",
                en: "the key file \(path) is readable by others (mode \(String(mode, radix: 8))); run chmod 600 \(path)"
            )
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try KeyRing(fileText: text)
    }
}

extension KeyRing {
    /// Writes `contents` to `path` (mode 0600) only if nothing is there: the file is written and flushed under a
    /// temporary name, then linked into place, which fails when another process got there first. Returns false when
    /// the file already existed (the other process's key is then the one used), so two instances starting at once on
    /// one key path never end up with two keys.
    static func createExclusively(path: String, contents: Data) throws -> Bool {
        let temporary = path + ".new-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw KeyRingError(ja: "鍵ファイル \(path) を作れません", en: "cannot create the key file \(path)") }
        defer { unlink(temporary) }
        let written = contents.withUnsafeBytes { bytes in write(descriptor, bytes.baseAddress, bytes.count) }
        let flushed = fsync(descriptor) == 0
        close(descriptor)
        guard written == contents.count, flushed else {
            throw KeyRingError(ja: "鍵ファイル \(path) を書き込めません", en: "cannot write the key file \(path)")
        }
        if link(temporary, path) == 0 {
            // The directory entry itself is made durable too.
            let directory = open(URL(fileURLWithPath: path).deletingLastPathComponent().path, O_RDONLY)
            if directory >= 0 {
                _ = fsync(directory)
                close(directory)
            }
            return true
        }
        if errno == EEXIST { return false }
        throw KeyRingError(ja: "鍵ファイル \(path) を作れません", en: "cannot create the key file \(path)")
    }
}

/// A key ring that cannot be built, with the reason.
public struct KeyRingError: BilingualError, Sendable {
    public var text: LocalizedText
    public init(ja: String, en: String) { text = LocalizedText(ja: ja, en: en) }
}
