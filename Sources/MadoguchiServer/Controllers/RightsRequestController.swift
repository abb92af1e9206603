import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import MadoguchiCore

/// Requests about a person's data as JSON (R-DSR-1, R-DSR-2): intake, then the one-time code.
struct RightsRequestController {
    let policy: Policy
    let site: PolicySite
    let desk: RightsRequestDesk
    /// Per client address (shared rule with the other public forms).
    let limiter: RateLimiter
    /// Per e-mail address, so that nobody can flood one mailbox with codes from many clients.
    /// Codes per address and hour, counted in the database across every server (R-OPS-1).
    let addressLimit: AddressLimit
    let baseURL: String
    let csrf: CSRFTokens
    let secureCookies: Bool

    func addRoutes(to router: Router<SiteRequestContext>) {
        let submissions = router.group().add(middleware: RateLimitMiddleware(name: "requests", limiter: limiter))
        addPageRoutes(to: router, submissions: submissions)
        // JSON only: no CSRF token (a cross-site form cannot send application/json without a preflight).
        submissions.post("/api/v1/requests") { request, context in
            let input: APIRequest = try await JSONInput.decode(request, context, expected: Self.requestShape)
            let submission = RightsRequestSubmission(
                type: input.type,
                email: input.email ?? "",
                name: input.name ?? "",
                phone: input.phone,
                details: input.details,
                purposes: input.purposes,
                delivery: input.delivery,
                identifier: request.cookies[policy.informativeData.cookieName].map { String($0.value) }
            )
            switch RightsRequestForm.validate(submission, policy: policy) {
            case let .failure(failure):
                return problemsResponse(failure.problems)
            case let .success(valid):
                let emailIndex = BlindIndex.of(email: valid.content.email, key: desk.vault.keys.ring.blindIndexKey)
                if let wait = try await addressLimit.acquire(emailIndex: emailIndex) { throw TooManyRequests(retryAfter: wait) }
                let receipt = try await desk.submit(valid, mail: { number, code in codeMail(to: valid.content.email, number: number, code: code) })
                // The same answer whether or not the address is known (R-DSR-2).
                return json(
                    .accepted,
                    [
                        "number": receipt.number, "expires_in": Int(RightsRequestDesk.codeLifetime),
                        "verify": "/api/v1/requests/\(receipt.number)/verify",
                        "message_ja": "確認コードをメールでお送りしました。10分以内に入力してください。",
                        "message_en": "We have e-mailed you a verification code; enter it within 10 minutes.",
                    ]
                )
            }
        }

        submissions.post("/api/v1/requests/:number/verify") { request, context in
            let number = try context.parameters.require("number")
            guard Self.isRequestNumber(number) else {
                throw PublicError(.notFound, LocalizedText(ja: "その受付番号のご請求はありません。", en: "There is no request with that number."))
            }
            let input: APIVerification = try await JSONInput.decode(request, context, expected: Self.verificationShape)
            let code = input.code.trimmingCharacters(in: .whitespaces)
            guard code.count == 6, code.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw PublicError(.badRequest, LocalizedText(ja: "確認コードは6桁の数字です。", en: "The code is six digits."))
            }
            let outcome = try await desk.verify(
                number: number,
                code: code,
                calendar: policy.requests.calendar,
                answerDays: policy.requests.answerBusinessDays,
                confirmation: { address, due, type in receivedMail(to: address, number: number, due: due, type: type) }
            )
            switch outcome {
            case let .verified(number, due, _):
                return json(
                    .ok,
                    [
                        "status": "open", "number": number, "due": due.description,
                        "message_ja": "ご本人確認が完了しました。\(due.japanese)までに手続きをご案内します。",
                        "message_en": "Your identity is confirmed. We will tell you how the request proceeds by \(due.english).",
                    ]
                )
            case let .wrongCode(left):
                // 403: the request is understood and refused; the code is the credential, and it is wrong.
                return JSONAnswer.problem(
                    .forbidden,
                    detail: "The code is not right; \(left) attempts left.",
                    detailJA: "確認コードが違います。あと\(left)回入力できます。",
                    extra: ["attempts_left": left]
                )
            case .notValid:
                // 404: no request waits for a code under this number (none was made, or its code expired, was
                // tried five times or was used) — one answer for all, so the answer tells nothing.
                return JSONAnswer.problem(
                    .notFound,
                    detail:
                        "No request is waiting for a code under this number (the code may have expired, been tried too often, or been used). Please send the request again.",
                    detailJA: "この受付番号で確認コードを待っているご請求はありません(有効期限切れ、入力回数の超過、または使用済み)。もう一度ご請求ください。"
                )
            case .itemMismatch:
                return JSONAnswer.problem(
                    .forbidden,
                    detail:
                        "The name or phone does not match what you registered, so the request was not accepted. Please contact \(policy.requests.email).",
                    detailJA: "ご登録の氏名または電話番号と一致しないため、ご請求を受け付けられませんでした。窓口までご連絡ください: \(policy.requests.email)",
                    extra: ["lapsed": true]
                )
            }
        }
    }

    // MARK: Input

    struct APIRequest: Decodable {
        let type: String
        let email: String?
        let name: String?
        let phone: String?
        let details: String?
        let purposes: [String]?
        let delivery: String?
    }

    struct APIVerification: Decodable {
        let code: String
    }

    static let requestShape = LocalizedText(
        ja: "JSON を読み取れません。type(文字列)、email、name が必要です。phone、details、purposes(文字列の配列)、delivery は任意です。",
        en:
            "The body is not JSON of the expected shape: type, email and name (strings); phone, details, purposes (array of strings) and delivery are optional."
    )
    static let verificationShape = LocalizedText(
        ja: "JSON を読み取れません。code(6桁の文字列)が必要です。",
        en: "The body is not JSON of the expected shape: code (a six-digit string)."
    )

    static func isRequestNumber(_ text: String) -> Bool {
        text.count == 16 && text.hasPrefix("R") && text.allSatisfy { $0.isASCII && ($0.isNumber || $0.isUppercase || $0 == "-") }
    }

    // MARK: Output

    private func json(_ status: HTTPResponse.Status, _ body: [String: Any]) -> Response {
        JSONAnswer.response(status, body)
    }

    private func problemsResponse(_ problems: [FieldProblem]) -> Response {
        let labels: [String: LocalizedText] = [
            "type": LocalizedText(ja: "請求の種類", en: "Request type"), "email": LocalizedText(ja: "メールアドレス", en: "E-mail address"),
            "name": LocalizedText(ja: "氏名", en: "Name"), "phone": LocalizedText(ja: "電話番号", en: "Phone"),
            "details": LocalizedText(ja: "請求の内容", en: "Details"), "purposes": LocalizedText(ja: "利用目的", en: "Purposes"),
            "delivery": LocalizedText(ja: "受け取り方法", en: "Delivery"),
        ]
        return JSONAnswer.fieldProblems(
            problems,
            label: { labels[$0] ?? LocalizedText($0) },
            strings: (site.resources.text(.ja), site.resources.text(.en)),
            detail:
                "Some fields are missing or invalid; nothing was stored. Types: \(RightsRequestType.allCases.map(\.rawValue).joined(separator: ", "))."
        )
    }

    // MARK: Mail (Japanese first, English second; naming the officer and the contact, R-CON-1)

    func codeMail(to address: String, number: String, code: String) -> OutgoingMail {
        site.resources.mail(to: address, subject: "req_code_subject", body: "req_code_body", policy: policy, baseURL: baseURL) { _ in
            ["number": number, "code": code, "link": baseURL + SitePath.requestVerify(number) + "?code=\(code)"]
        }
    }

    func receivedMail(to address: String, number: String, due: LocalDate, type: RightsRequestType) -> OutgoingMail {
        site.resources.requestReceivedMail(to: address, number: number, due: due, type: type, policy: policy, baseURL: baseURL)
    }
}

extension SiteResources {
    /// The mail that tells a requester the request is open and by when it will be answered (from the site, or
    /// entered by staff).
    func requestReceivedMail(
        to address: String,
        number: String,
        due: LocalDate,
        type: RightsRequestType,
        policy: Policy,
        baseURL: String
    ) -> OutgoingMail {
        mail(to: address, subject: "req_open_subject", body: "req_open_body", policy: policy, baseURL: baseURL) { language in
            ["number": number, "due": language == .ja ? due.japanese : due.english, "type": type.name[language]]
        }
    }
}
