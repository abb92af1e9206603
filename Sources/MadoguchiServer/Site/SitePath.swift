import Foundation
import Hummingbird

/// Every path of the site, in one place: the route templates the router registers (`…Route`, with `:captures`) and
/// the functions that build the same paths for links and redirects. A path is never written twice.
enum SitePath {
    // The published policy
    static let privacy = "/privacy"
    static let privacyJSON = "/privacy.json"
    static let externalTransmission = "/privacy/external-transmission"
    static let versions = "/privacy/versions"
    static let versionRoute = "/privacy/versions/:version"
    static let versionExternalRoute = "/privacy/versions/:version/external-transmission"
    static func version(_ id: String) -> String { "/privacy/versions/\(id.urlPathEncoded)" }

    // Inquiries
    static let services = "/inquiry"
    static let inquiryRoute = "/inquiry/:service"
    static let receivedRoute = "/inquiry/:service/received"
    static let confirmRoute = "/inquiry/confirm/:number"
    static func inquiry(_ service: String) -> String { "/inquiry/\(service)" }
    static func received(_ service: String) -> String { "/inquiry/\(service)/received" }
    static func confirm(_ number: String) -> String { "/inquiry/confirm/\(number)" }

    // Requests about one's data
    static let newRequest = "/requests/new"
    static let requestVerifyRoute = "/requests/:number/verify"
    static let downloadRoute = "/requests/:number/download"
    static func requestVerify(_ number: String) -> String { "/requests/\(number)/verify" }
    static func download(_ number: String) -> String { "/requests/\(number)/download" }
    static let downloadCodeRoute = "/requests/:number/download/code"
    static func downloadCode(_ number: String) -> String { "/requests/\(number)/download/code" }

    // The person's own page
    static let me = "/me"
    static let meCode = "/me/code"
    static let meVerify = "/me/verify"
    static let meExport = "/me/export"
    static let meErase = "/me/erase"
    static let meSignOut = "/me/sign-out"
    static let meConsents = "/me/consents"
    static let meInquiryRoute = "/me/inquiries/:number"
    static let meInquiryDeleteRoute = "/me/inquiries/:number/delete"
    static func meInquiry(_ number: String) -> String { "/me/inquiries/\(number)" }
    static func meInquiryDelete(_ number: String) -> String { "/me/inquiries/\(number)/delete" }

    // One-click unsubscribe from campaign mail (RFC 8058)
    static let unsubscribeRoute = "/unsubscribe/:token"
    static func unsubscribe(_ token: String) -> String { "/unsubscribe/\(token)" }
    // A survey's answer page, from the link in its mail
    static let surveyRoute = "/surveys/:token"
    static func survey(_ token: String) -> String { "/surveys/\(token)" }

    // Preferences without JavaScript
    static let preferences = "/preferences"
    static let preferencesReset = "/preferences/reset"

    // The staff console
    static let console = "/console"
    static let signIn = "/console/sign-in"
    static let setup = "/console/setup"
    static let signOut = "/console/sign-out"
    static let consoleInquiries = "/console/inquiries"
    static let consoleInquiryRoute = "/console/inquiries/:id"
    static let answerRoute = "/console/inquiries/:id/answer"
    static let provisionRoute = "/console/inquiries/:id/provisions"
    static let forwardRoute = "/console/inquiries/:id/forward"
    static let statusRoute = "/console/inquiries/:id/status"
    static let consoleRequests = "/console/requests"
    static let consoleRequestRoute = "/console/requests/:id"
    static let completeRoute = "/console/requests/:id/complete"
    static let refuseRoute = "/console/requests/:id/refuse"
    static let audit = "/console/audit"
    static let consolePolicy = "/console/policy"
    static let consoleCampaigns = "/console/campaigns"
    static let consoleStatistics = "/console/statistics"
    static let consoleIncidents = "/console/incidents"
    static let consoleContractors = "/console/contractors"
    static let consoleStaff = "/console/staff"
    static let consoleIncidentRoute = "/console/incidents/:id"
    static let incidentReportsRoute = "/console/incidents/:id/reports"
    static let incidentPeopleRoute = "/console/incidents/:id/people"
    static let incidentNotifyRoute = "/console/incidents/:id/notify"
    static let incidentPrintRoute = "/console/incidents/:id/report"
    static let incidentJSONRoute = "/console/incidents/:id/report.json"
    static func consoleIncident(_ id: String) -> String { "/console/incidents/\(id)" }
    static let consoleStatisticsCSV = "/console/statistics.csv"
    static let consoleCampaignRoute = "/console/campaigns/:id"
    static let campaignStartRoute = "/console/campaigns/:id/start"
    static func consoleCampaign(_ id: String) -> String { "/console/campaigns/\(id)" }
    static func campaignStart(_ id: String) -> String { "/console/campaigns/\(id)/start" }
    static func consoleInquiry(_ id: String) -> String { "/console/inquiries/\(id)" }
    static func consoleRequest(_ id: String) -> String { "/console/requests/\(id)" }
    static func complete(_ id: String) -> String { "/console/requests/\(id)/complete" }
    static func refuse(_ id: String) -> String { "/console/requests/\(id)/refuse" }
}
