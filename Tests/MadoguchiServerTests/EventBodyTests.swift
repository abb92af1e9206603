import Foundation
import Testing

@testable import MadoguchiServer

@Suite("Event body")
struct EventBodyTests {
    static func fast(_ text: String) -> EventBodyScanner.Fields? {
        Array(text.utf8).withUnsafeBytes { EventBodyScanner.scan($0) }
    }

    static func general(_ text: String) -> EventBodyScanner.Fields? {
        ConsentController.APIEvent(json: Data(text.utf8)).map {
            EventBodyScanner.Fields(id: $0.id, kind: $0.kind, vendorList: $0.vendorList, vendors: $0.vendors, gpc: $0.gpc)
        }
    }

    @Test("the fast path reads what the snippet sends exactly as JSONSerialization does")
    func plain() {
        for body in [
            #"{"id":"abcdefghijklmnopqrstuv","kind":"notice","vendor_list":"v1","gpc":false}"#,
            #"{"id":"abcdefghijklmnopqrstuv","kind":"choice","vendor_list":"v1","gpc":true,"vendors":{"a":true,"b":false}}"#,
            " {\n\t\"kind\" : \"reset\" , \"vendor_list\":\"v1\", \"id\":\"x\" , \"vendors\" : { } }\r\n",
            #"{"id":"名前","kind":"notice","vendor_list":"v1"}"#,
        ] {
            let read = Self.fast(body)
            #expect(read != nil, "\(body)")
            #expect(read == Self.general(body), "\(body)")
        }
    }

    @Test("anything unusual or hostile leaves the fast path, which never accepts what the general one would not")
    func unusual() {
        let bodies = [
            #"{"id":"a\"b","kind":"notice","vendor_list":"v1"}"#,  // an escape: Foundation decides
            #"{"id":"\u0061","kind":"notice","vendor_list":"v1"}"#,
            #"{"id":"a","kind":"notice","vendor_list":"v1","pad":"x"}"#,  // an unknown key
            #"{"id":"a","id":"b","kind":"notice","vendor_list":"v1"}"#,  // a repeated key
            #"{"id":"a","kind":"notice","vendor_list":"v1","vendors":{"x":true,"x":false}}"#,
            #"{"id":"a","kind":"notice","vendor_list":"v1"} trailing"#,
            #"{"id":"a","kind":"notice","vendor_list":"v1",}"#,
            #"{"id":"a","kind":"notice"}"#,  // a missing key
            #"{"id":1,"kind":"notice","vendor_list":"v1"}"#,
            #"{"id":"a","kind":"notice","vendor_list":"v1","gpc":"yes"}"#,
            #"{"id":"a","kind":"notice","vendor_list":"v1","gpc":tru}"#,
            #"{"id":"a","kind":"notice","vendor_list":"v1","vendors":{"x":1}}"#,
            #"{"id":"a","kind":"notice","vendor_list":"v1","vendors":{"x":{"y":true}}}"#,
            #"["id"]"#, "", "{", "}", "{\"id\":\"a", String(repeating: "{", count: 10_000),
            "{\"id\":\"a\u{01}\",\"kind\":\"notice\",\"vendor_list\":\"v1\"}",
        ]
        for body in bodies {
            #expect(Self.fast(body) == nil, "\(body.prefix(80))")
        }
        // Invalid UTF-8 inside a string is refused by both.
        var bytes = Array(#"{"id":"ab","kind":"notice","vendor_list":"v1"}"#.utf8)
        bytes[8] = 0xFF
        #expect(bytes.withUnsafeBytes { EventBodyScanner.scan($0) } == nil)
        #expect(ConsentController.APIEvent(json: Data(bytes)) == nil)
    }
}
