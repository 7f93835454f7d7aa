// The public API of the generated Swift bindings, for review; not compiled.
// Written by scripts/ffi-test.sh (JECO_BLESS=1) from bindings/ffi/swift_api.py.
public protocol ClientProtocol: AnyObject, Sendable
    func accessToken() async throws -> String
    func addContact(user: UserId) async throws
    func baseUrl() -> String
    func block(user: UserId) async throws
    func blockedUsers() async throws -> [UserRef]
    func changePassword(current: String, new: String) async throws -> Tokens
    func changes(room: RoomId, after: Seq, limit: UInt32?) async throws -> Changes
    func confirmPasswordReset(token: String, newPassword: String) async throws
    func connect(options: ConnectOptions) throws -> Connection
    func contacts() async throws -> [Contact]
    func createRoom(name: String, kind: RoomKind, topic: String) async throws -> Room
    func deleteMessage(message: MessageId) async throws
    func editMessage(message: MessageId, body: String) async throws -> Message
    func feed(after: Seq, limit: UInt32?) async throws -> Feed
    func forwardMessage(message: MessageId, to: RoomId, clientId: String) async throws -> Message
    func health() async throws
    func history(room: RoomId, query: HistoryQuery) async throws -> MessagePage
    func invite(room: RoomId, user: UserId) async throws
    func joinRoom(room: RoomId) async throws -> Room
    func kick(room: RoomId, user: UserId) async throws
    func leaveRoom(room: RoomId) async throws
    func login(login: String, password: String) async throws -> Session
    func logout() async throws
    func markAllNotificationsRead() async throws -> Int64
    func markNotificationRead(notification: NotificationId) async throws
    func markRead(room: RoomId, seq: Seq) async throws -> Seq
    func me() async throws -> Account
    func members(room: RoomId) async throws -> [Member]
    func message(message: MessageId) async throws -> Message
    func notifications(query: NotificationsQuery) async throws -> NotificationPage
    func openDirect(user: UserId) async throws -> Room
    func presence(users: [UserId]) async throws -> [PresenceInfo]
    func profile(user: UserId) async throws -> Profile
    func react(message: MessageId, emoji: String, add: Bool?) async throws -> Bool
    func readBy(message: MessageId) async throws -> [UserRef]
    func ready() async throws
    func refresh() async throws -> Tokens
    func register(username: String, email: String, password: String) async throws -> Session
    func removeContact(user: UserId) async throws
    func requestPasswordReset(email: String) async throws
    func restore(tokens: Tokens) async
    func room(room: RoomId) async throws -> Room
    func rooms() async throws -> [RoomSummary]
    func searchUsers(q: String, limit: UInt32?) async throws -> [UserRef]
    func sendMessage(room: RoomId, message: SendMessage) async throws -> Message
    func setRole(room: RoomId, user: UserId, role: Role) async throws
    func setTyping(room: RoomId, active: Bool) async throws
    func ticket() async throws -> Ticket
    func tokens() async -> Tokens?
    func unblock(user: UserId) async throws
    func unread() async throws -> UnreadSummary
    func unreadNotificationCount() async throws -> Int64
    func updateProfile(change: ProfileChange) async throws -> Account
    func download(attachment: AttachmentId) async throws -> Download
    func thumbnail(attachment: AttachmentId) async throws -> Download
    func uploadAttachment(room: RoomId, file: Upload, listener: UploadListener?) async throws -> AttachmentMeta
    func uploadAvatar(file: Upload, listener: UploadListener?) async throws -> AttachmentMeta
open class Client: ClientProtocol, @unchecked Sendable
    public convenience init(baseUrl: String, tokenStore: TokenStore?) throws
public protocol ConnectionProtocol: AnyObject, Sendable
    func addListener(listener: ConnectionListener) -> TaskHandle
    func delete(message: MessageId) async throws
    func disconnect()
    func edit(message: MessageId, body: String) async throws -> Message
    func feedSeq() -> Seq?
    func isConnected() -> Bool
    func markRead(room: RoomId, seq: Seq) async throws -> Seq
    func pendingSends() -> [PendingSend]
    func positions() -> [RoomPosition]
    func react(message: MessageId, emoji: String, add: Bool) async throws -> Bool
    func send(room: RoomId, body: String) -> String
    func sendAndWait(room: RoomId, message: SendMessage) async throws -> Message
    func sendMessage(room: RoomId, message: SendMessage) -> String
    func state() -> ConnectionState
    func typing(room: RoomId, active: Bool) async throws
open class Connection: ConnectionProtocol, @unchecked Sendable
public protocol ConnectionListener: AnyObject, Sendable
    func onEvent(event: ConnectionEvent)
open class ConnectionListenerImpl: ConnectionListener, @unchecked Sendable
public protocol TaskHandleProtocol: AnyObject, Sendable
    func cancel()
    func isCancelled() -> Bool
open class TaskHandle: TaskHandleProtocol, @unchecked Sendable
public protocol TokenStore: AnyObject, Sendable
    func load() -> Tokens?
    func save(tokens: Tokens?)
open class TokenStoreImpl: TokenStore, @unchecked Sendable
public protocol UploadListener: AnyObject, Sendable
    func progress(sent: UInt64, total: UInt64)
open class UploadListenerImpl: UploadListener, @unchecked Sendable
public struct Account: Equatable, Hashable
    public var profile: Profile
    public var email: String
    public init(profile: Profile, email: String)
public struct AttachmentMeta: Equatable, Hashable
    public var id: AttachmentId
    public var roomId: RoomId?
    public var filename: String
    public var contentType: String
    public var size: Int64
    public init(id: AttachmentId, roomId: RoomId?, filename: String, contentType: String, size: Int64)
public struct Changes: Equatable, Hashable
    public var events: [Event]
    public var lastSeq: Seq
    public var hasMore: Bool
    public init(events: [Event], lastSeq: Seq, hasMore: Bool)
public struct ConnectOptions: Equatable, Hashable
    public var transport: TransportKind?
    public var rooms: [RoomPosition]
    public var feedSeq: Seq?
    public var outbox: [PendingSend]
    public var backoffBaseMs: UInt64
    public var backoffMaxMs: UInt64
    public init(transport: TransportKind? = nil, rooms: [RoomPosition] = [], feedSeq: Seq? = nil, outbox: [PendingSend] = [], backoffBaseMs: UInt64 = UInt64(100), backoffMaxMs: UInt64 = UInt64(10000))
public struct Contact: Equatable, Hashable
    public var user: UserRef
    public var addedAt: Timestamp?
    public init(user: UserRef, addedAt: Timestamp?)
public struct Download: Equatable, Hashable
    public var data: Data
    public var contentType: String
    public var fileName: String?
    public init(data: Data, contentType: String, fileName: String?)
public struct Feed: Equatable, Hashable
    public var events: [Event]
    public var feedSeq: Seq
    public var hasMore: Bool
    public init(events: [Event], feedSeq: Seq, hasMore: Bool)
public struct HistoryQuery: Equatable, Hashable
    public var before: Seq?
    public var after: Seq?
    public var limit: UInt32?
    public init(before: Seq?, after: Seq?, limit: UInt32?)
public struct Member: Equatable, Hashable
    public var user: UserRef
    public var role: Role
    public var joinedAt: Timestamp
    public var lastReadSeq: Seq
    public init(user: UserRef, role: Role, joinedAt: Timestamp, lastReadSeq: Seq)
public struct Message: Equatable, Hashable
    public var id: MessageId
    public var roomId: RoomId
    public var seq: Seq
    public var sender: UserRef
    public var clientId: String
    public var body: String
    public var replyTo: MessageId?
    public var forwardedFrom: MessageId?
    public var attachments: [AttachmentMeta]
    public var mentions: [UserId]
    public var reactions: [Reaction]
    public var createdAt: Timestamp
    public var editedAt: Timestamp?
    public var deleted: Bool
    public init(id: MessageId, roomId: RoomId, seq: Seq, sender: UserRef, clientId: String, body: String, replyTo: MessageId?, forwardedFrom: MessageId?, attachments: [AttachmentMeta], mentions: [UserId], reactions: [Reaction], createdAt: Timestamp, editedAt: Timestamp?, deleted: Bool)
public struct MessagePage: Equatable, Hashable
    public var items: [Message]
    public var next: Seq?
    public init(items: [Message], next: Seq?)
public struct NotificationItem: Equatable, Hashable
    public var id: NotificationId
    public var feedSeq: Seq
    public var kind: NotificationKind
    public var roomId: RoomId
    public var messageId: MessageId?
    public var actor: UserRef
    public var detail: String?
    public var createdAt: Timestamp
    public var read: Bool
    public init(id: NotificationId, feedSeq: Seq, kind: NotificationKind, roomId: RoomId, messageId: MessageId?, actor: UserRef, detail: String?, createdAt: Timestamp, read: Bool)
public struct NotificationPage: Equatable, Hashable
    public var items: [NotificationItem]
    public var next: NotificationId?
    public init(items: [NotificationItem], next: NotificationId?)
public struct NotificationsQuery: Equatable, Hashable
    public var before: NotificationId?
    public var unreadOnly: Bool
    public var limit: UInt32?
    public init(before: NotificationId?, unreadOnly: Bool, limit: UInt32?)
public struct PendingSend: Equatable, Hashable
    public var roomId: RoomId
    public var message: SendMessage
    public init(roomId: RoomId, message: SendMessage)
public struct PresenceInfo: Equatable, Hashable
    public var userId: UserId
    public var online: Bool
    public var lastSeen: Timestamp?
    public init(userId: UserId, online: Bool, lastSeen: Timestamp?)
public struct Profile: Equatable, Hashable
    public var id: UserId
    public var username: String
    public var displayName: String
    public var avatar: AttachmentId?
    public var bio: String
    public var createdAt: Timestamp
    public init(id: UserId, username: String, displayName: String, avatar: AttachmentId?, bio: String, createdAt: Timestamp)
public struct ProfileChange: Equatable, Hashable
    public var displayName: String?
    public var avatar: AvatarChange?
    public var bio: String?
    public init(displayName: String? = nil, avatar: AvatarChange? = nil, bio: String? = nil)
public struct Reaction: Equatable, Hashable
    public var emoji: String
    public var users: [UserId]
    public init(emoji: String, users: [UserId])
public struct Room: Equatable, Hashable
    public var id: RoomId
    public var kind: RoomKind
    public var name: String?
    public var topic: String
    public var createdBy: UserId?
    public var createdAt: Timestamp
    public var lastSeq: Seq
    public var memberCount: Int64
    public init(id: RoomId, kind: RoomKind, name: String?, topic: String, createdBy: UserId?, createdAt: Timestamp, lastSeq: Seq, memberCount: Int64)
public struct RoomPosition: Equatable, Hashable
    public var roomId: RoomId
    public var seq: Seq
    public init(roomId: RoomId, seq: Seq)
public struct RoomSummary: Equatable, Hashable
    public var room: Room
    public var role: Role?
    public var lastReadSeq: Seq
    public var unread: Int64
    public var peer: UserRef?
    public init(room: Room, role: Role?, lastReadSeq: Seq, unread: Int64, peer: UserRef?)
public struct SendMessage: Equatable, Hashable
    public var clientId: String
    public var body: String
    public var replyTo: MessageId?
    public var attachments: [AttachmentId]
    public init(clientId: String, body: String, replyTo: MessageId?, attachments: [AttachmentId])
public struct Session: Equatable, Hashable
    public var account: Account
    public var tokens: Tokens
    public init(account: Account, tokens: Tokens)
public struct Ticket: Equatable, Hashable
    public var ticket: String
    public var expiresInMs: UInt64
    public init(ticket: String, expiresInMs: UInt64)
public struct Tokens: Equatable, Hashable
    public var accessToken: String
    public var accessExpiresAt: Timestamp
    public var refreshToken: String
    public var refreshExpiresAt: Timestamp
    public init(accessToken: String, accessExpiresAt: Timestamp, refreshToken: String, refreshExpiresAt: Timestamp)
public struct UnreadRoom: Equatable, Hashable
    public var roomId: RoomId
    public var unread: Int64
    public var lastReadSeq: Seq
    public var lastSeq: Seq
    public init(roomId: RoomId, unread: Int64, lastReadSeq: Seq, lastSeq: Seq)
public struct UnreadSummary: Equatable, Hashable
    public var rooms: [UnreadRoom]
    public var notifications: Int64
    public init(rooms: [UnreadRoom], notifications: Int64)
public struct UserRef: Equatable, Hashable
    public var id: UserId
    public var username: String
    public var displayName: String
    public init(id: UserId, username: String, displayName: String)
public enum AvatarChange: Equatable, Hashable
    case set(attachment: AttachmentId)
    case clear
public enum ConnectionEvent: Equatable, Hashable
    case state(state: ConnectionState)
    case server(event: Event)
    case sent(clientId: String, message: Message)
    case sendFailed(clientId: String, roomId: RoomId, error: JecoError)
    case resync(roomId: RoomId, seq: Seq)
    case feedResync(feedSeq: Seq)
public enum ConnectionState: Equatable, Hashable
    case connecting
    case connected(userId: UserId, resumed: Bool)
    case reconnecting(reason: String)
    case stopped(reason: String)
public enum ErrorCode: Equatable, Hashable
    case invalidJson
    case invalidContentType
    case invalidBody
    case invalidPath
    case invalidQuery
    case invalidMultipart
    case notAWebsocket
    case invalidFrame
    case protocolError
    case alreadyAuthenticated
    case invalidUsername
    case invalidEmail
    case weakPassword
    case invalidRoomName
    case invalidKind
    case tooLong
    case invalidCharacters
    case invalidClientId
    case emptyMessage
    case invalidReplyTo
    case invalidAttachment
    case messageDeleted
    case invalidEmoji
    case tooManyReactions
    case invalidSeq
    case tooFarBehind
    case invalidTarget
    case tooManyUsers
    case emptyFile
    case avatarMustBeImage
    case invalidAvatar
    case tooLarge
    case frameTooLarge
    case unauthenticated
    case invalidCredentials
    case invalidToken
    case tokenExpired
    case invalidTicket
    case authRequired
    case authTimeout
    case signedOut
    case notAMember
    case notAuthor
    case notAllowed
    case blocked
    case csrfRejected
    case userNotFound
    case roomNotFound
    case messageNotFound
    case notificationNotFound
    case attachmentNotFound
    case contactNotFound
    case memberNotFound
    case sessionNotFound
    case thumbnailNotFound
    case unknownRoute
    case methodNotAllowed
    case usernameTaken
    case emailTaken
    case roomNameTaken
    case rateLimited
    case tooManyConnections
    case unavailable
    case storeUnavailable
    case notSubscribed
    case slowConsumer
    case shuttingDown
    case heartbeatTimeout
    case uploadTimeout
    case `internal`
    case unknown
public enum Event: Equatable, Hashable
    case messageCreated(roomId: RoomId, seq: Seq, message: Message)
    case messageEdited(roomId: RoomId, seq: Seq, message: Message)
    case messageDeleted(roomId: RoomId, seq: Seq, messageId: MessageId, by: UserId)
    case reactionAdded(roomId: RoomId, seq: Seq, messageId: MessageId, userId: UserId, emoji: String)
    case reactionRemoved(roomId: RoomId, seq: Seq, messageId: MessageId, userId: UserId, emoji: String)
    case memberJoined(roomId: RoomId, seq: Seq, user: UserRef, role: Role, by: UserId?)
    case memberLeft(roomId: RoomId, seq: Seq, userId: UserId, reason: LeaveReason, by: UserId?)
    case memberRole(roomId: RoomId, seq: Seq, userId: UserId, role: Role)
    case read(roomId: RoomId, userId: UserId, seq: Seq)
    case typing(roomId: RoomId, userId: UserId, active: Bool, expiresInMs: UInt64)
    case presence(userId: UserId, online: Bool, lastSeen: Timestamp?)
    case notification(notification: NotificationItem)
    case membership(feedSeq: Seq, roomId: RoomId, roomSeq: Seq, joined: Bool)
    case block(userId: UserId, blocked: Bool)
    case notificationsRead(ids: [NotificationId], all: Bool, unread: Int64)
    case roomActivity(roomId: RoomId, lastSeq: Seq)
    case signedOut(reason: String)
    case unknown
public enum JecoError: Swift.Error, Equatable, Hashable, Foundation.LocalizedError
    case Api(status: UInt16, code: ErrorCode, detail: String, field: String?, roomId: RoomId?, retryAfterMs: UInt64?)
    case NotSignedIn
    case InvalidUrl(detail: String)
    case Transport(detail: String)
    case Decode(detail: String)
    case NotConnected
    case Disconnected
    case Closed
    case File(detail: String)
    case Other(detail: String)
    public var errorDescription: String?
public enum LeaveReason: Equatable, Hashable
    case left
    case kicked
public enum NotificationKind: Equatable, Hashable
    case directMessage
    case mention
    case reply
    case reaction
    case invite
public enum Role: Equatable, Hashable
    case member
    case admin
    case owner
public enum RoomKind: Equatable, Hashable
    case `public`
    case `private`
    case direct
public enum TransportKind: Equatable, Hashable
    case webSocket
    case sse
public enum Upload: Equatable, Hashable
    case bytes(fileName: String, data: Data)
    case file(path: String, fileName: String?)
public typealias AttachmentId = Int64
public typealias MessageId = Int64
public typealias NotificationId = Int64
public typealias RoomId = Int64
public typealias Seq = Int64
public typealias Timestamp = Int64
public typealias UserId = Int64
public func newClientId() -> String
