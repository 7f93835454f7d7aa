// The Kotlin bindings against a real jeco-server, run by scripts/ffi-test.sh: sign-in and
// the token store, sending and receiving through a listener, the outbox, reconnecting after
// a server restart with nothing lost, and errors mapped to the protocol's codes.
//
// No test framework: each test is a function, and the run ends with "N passed, N failed".
// Nothing sleeps to make a test pass: every wait is for a listener event, with a deadline.

package chat.jeco.test

import chat.jeco.*
import java.io.File
import java.net.ServerSocket
import java.net.Socket
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlin.system.exitProcess
import kotlinx.coroutines.runBlocking

const val WAIT_MS = 30_000L
const val PASSWORD = "correct horse battery"

/** A jeco-server process of our own, restartable on the same port and data. */
class Server(private val bin: String, private val dataDir: File, private val log: File) {
    val port: Int = ServerSocket(0).use { it.localPort }
    val url = "http://127.0.0.1:$port"
    private var process: Process? = null

    fun start() {
        val p = ProcessBuilder(
            bin, "--listen", "127.0.0.1:$port", "--data-dir", dataDir.path,
            "--auth-rate-per-minute", "10000", "--send-rate", "1000", "--send-burst", "1000",
        ).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log)).start()
        process = p
        val deadline = System.currentTimeMillis() + WAIT_MS
        while (true) {
            check(p.isAlive) { "jeco-server exited; see $log" }
            if (runCatching { Socket("127.0.0.1", port).close() }.isSuccess) return
            check(System.currentTimeMillis() < deadline) { "jeco-server did not listen in time" }
            p.waitFor(50, TimeUnit.MILLISECONDS)
        }
    }

    fun stop() {
        val p = process ?: return
        p.destroy()
        check(p.waitFor(WAIT_MS, TimeUnit.MILLISECONDS)) { "jeco-server did not stop" }
        process = null
    }
}

/** Collects a connection's events; tests wait on it with a deadline. */
class Events : ConnectionListener {
    private val queue = LinkedBlockingQueue<ConnectionEvent>()
    val seen = mutableListOf<ConnectionEvent>()

    override fun onEvent(event: ConnectionEvent) {
        queue.put(event)
    }

    /** The next event; fails after [WAIT_MS]. */
    fun next(): ConnectionEvent =
        queue.poll(WAIT_MS, TimeUnit.MILLISECONDS)?.also { seen.add(it) }
            ?: error("no event within ${WAIT_MS}ms; seen: $seen")

    /** Skips events until [pick] returns non-null; fails if that takes over [WAIT_MS]. */
    fun <T> await(what: String, pick: (ConnectionEvent) -> T?): T {
        val deadline = System.currentTimeMillis() + WAIT_MS
        while (true) {
            val left = deadline - System.currentTimeMillis()
            val event = (if (left > 0) queue.poll(left, TimeUnit.MILLISECONDS) else null)
                ?: error("no $what within ${WAIT_MS}ms; seen: $seen")
            seen.add(event)
            pick(event)?.let { return it }
        }
    }

    fun awaitConnected(): ConnectionState.Connected = await("connection") {
        ((it as? ConnectionEvent.State)?.state as? ConnectionState.Connected)
    }
}

/** Keeps tokens in memory, as an app would in the keychain or keystore. */
class MemoryTokenStore(var saved: Tokens? = null) : TokenStore {
    var saves = 0
    override fun load(): Tokens? = saved
    override fun save(tokens: Tokens?) {
        saved = tokens
        saves++
    }
}

fun createdBody(event: ConnectionEvent, room: RoomId): String? =
    ((event as? ConnectionEvent.Server)?.event as? Event.MessageCreated)
        ?.takeIf { it.roomId == room }?.message?.body

inline fun <reified E : JecoException> expectThrows(block: () -> Unit): E {
    try {
        block()
    } catch (e: JecoException) {
        if (e is E) return e
        throw AssertionError("expected ${E::class.simpleName}, got $e")
    }
    throw AssertionError("expected ${E::class.simpleName}, nothing was thrown")
}

fun expect(condition: Boolean, what: () -> String) {
    if (!condition) throw AssertionError(what())
}

class Suite(private val server: Server) {
    private var users = 0
    private val run = System.nanoTime().toString(36).takeLast(6)

    /** A new account, signed in. */
    fun user(store: TokenStore? = null): Pair<Client, Session> = runBlocking {
        users++
        val client = Client(server.url, store)
        val name = "kt${run}_$users"
        client to client.register(name, "$name@example.com", PASSWORD)
    }

    fun general(client: Client): RoomId = runBlocking {
        client.rooms().first { it.room.name == "general" }.room.id
    }

    fun signInAndTheTokenStore() = runBlocking {
        val store = MemoryTokenStore()
        val (client, session) = user(store)
        expect(store.saved == session.tokens) { "the store got the session's tokens" }
        val name = session.account.profile.username
        val again = Client(server.url, null).login(name, PASSWORD)
        expect(again.account.profile.id == session.account.profile.id) { "login finds the account" }

        // A new client (an app's next start) continues from the store.
        val restarted = Client(server.url, store)
        expect(restarted.me().profile.username == name) { "the restored session works" }
        restarted.logout()
        expect(store.saved == null) { "logout clears the store" }
        expectThrows<JecoException.NotSignedIn> { runBlocking { restarted.me() } }
        client.close()
        restarted.close()
    }

    fun errorsCarryTheProtocolCode() = runBlocking {
        val (client, session) = user()
        val wrong = expectThrows<JecoException.Api> {
            runBlocking { Client(server.url, null).login(session.account.profile.username, "wrong password!") }
        }
        expect(wrong.code == ErrorCode.INVALID_CREDENTIALS && wrong.status.toInt() == 401) { "got $wrong" }
        val missing = expectThrows<JecoException.Api> { runBlocking { client.room(987_654_321L) } }
        expect(missing.code == ErrorCode.ROOM_NOT_FOUND && missing.status.toInt() == 404) { "got $missing" }
        val weak = expectThrows<JecoException.Api> {
            runBlocking { Client(server.url, null).register("kt${run}_weak", "kt${run}_weak@example.com", "short") }
        }
        expect(weak.code == ErrorCode.WEAK_PASSWORD && weak.field == "password") { "got $weak" }
        expectThrows<JecoException.InvalidUrl> { Client("ftp://example.com", null) }
        expectThrows<JecoException.NotSignedIn> { runBlocking { Client(server.url, null).rooms() } }
        client.close()
    }

    fun sendAndReceiveThroughAListener() = runBlocking {
        val (alice, _) = user()
        val (bob, _) = user()
        val room = general(alice)
        val aliceConn = alice.connect(ConnectOptions())
        // Bob on the SSE transport, alice on WebSocket.
        val bobConn = bob.connect(ConnectOptions(transport = TransportKind.SSE))
        val aliceEvents = Events()
        val bobEvents = Events()
        val aliceHandle = aliceConn.addListener(aliceEvents)
        val bobHandle = bobConn.addListener(bobEvents)
        expect(aliceEvents.next() is ConnectionEvent.State) { "a listener hears the state first" }
        aliceEvents.awaitConnected()
        bobEvents.awaitConnected()

        // A listener that throws loses its own delivery, and nothing else.
        val thrown = AtomicInteger()
        val throwing = bobConn.addListener(object : ConnectionListener {
            override fun onEvent(event: ConnectionEvent) {
                thrown.incrementAndGet()
                throw IllegalStateException("a bug in the app's listener")
            }
        })

        val clientId = aliceConn.send(room, "hello from Kotlin")
        val sent = aliceEvents.await("Sent") { (it as? ConnectionEvent.Sent)?.takeIf { s -> s.clientId == clientId } }
        expect(sent.message.body == "hello from Kotlin") { "the stored message is the one sent" }
        expect(bobEvents.await("the message") { createdBody(it, room) } == "hello from Kotlin") { "bob hears it" }
        expect(aliceConn.pendingSends().isEmpty()) { "the outbox is empty once acknowledged" }

        // send_and_wait, and a refusal on its merits reported as SendFailed.
        val key = newClientId()
        val stored = aliceConn.sendAndWait(room, SendMessage(key, "second", null, emptyList()))
        expect(stored.body == "second" && stored.seq > sent.message.seq) { "send_and_wait stores in order" }
        expect(stored.clientId == key) { "the message keeps the key it was sent with" }
        val refused = aliceConn.send(room, "   ")
        val failed = aliceEvents.await("SendFailed") {
            (it as? ConnectionEvent.SendFailed)?.takeIf { f -> f.clientId == refused }
        }
        val error = failed.error
        expect(error is JecoException.Api && error.code == ErrorCode.EMPTY_MESSAGE) { "got $error" }

        expect(thrown.get() == 1) { "the throwing listener was called once, not ${thrown.get()} times" }
        throwing.close()

        // A late listener hears the current state first.
        val late = Events()
        val lateHandle = bobConn.addListener(late)
        val first = late.next()
        expect((first as? ConnectionEvent.State)?.state is ConnectionState.Connected) { "got $first" }
        lateHandle.cancel()
        expect(lateHandle.isCancelled()) { "the handle says it is cancelled" }

        for (h in listOf(aliceHandle, bobHandle)) h.close()
        aliceConn.disconnect()
        bobConn.disconnect()
        aliceConn.close()
        bobConn.close()
    }

    fun filesGoUpAndComeBack() = runBlocking {
        val (alice, _) = user()
        val room = general(alice)
        val data = "a file from Kotlin\n".repeat(5000).toByteArray()
        val progress = mutableListOf<Pair<ULong, ULong>>()
        val listener = object : UploadListener {
            override fun progress(sent: ULong, total: ULong) {
                synchronized(progress) { progress.add(sent to total) }
            }
        }
        val meta = alice.uploadAttachment(room, Upload.Bytes("notes.txt", data), listener)
        expect(meta.size == data.size.toLong() && meta.filename == "notes.txt") { "got $meta" }
        val last = synchronized(progress) { progress.lastOrNull() }
        expect(last == data.size.toULong() to data.size.toULong()) { "progress ends at the total: $last" }
        val message = alice.sendMessage(room, SendMessage("", "with a file", null, listOf(meta.id)))
        expect(message.attachments.map { it.id } == listOf(meta.id)) { "the message carries the file" }
        val download = alice.download(meta.id)
        expect(download.data.contentEquals(data)) { "the same bytes come back" }
        val missing = expectThrows<JecoException.Api> { runBlocking { alice.download(987_654_321L) } }
        expect(missing.code == ErrorCode.ATTACHMENT_NOT_FOUND) { "got $missing" }
    }

    fun reconnectsAfterAServerRestartWithNothingLost() = runBlocking {
        val (alice, _) = user()
        val (bob, _) = user()
        val (_, carol) = user()
        val room = general(alice)
        val options = ConnectOptions(backoffBaseMs = 50uL, backoffMaxMs = 500uL)
        val aliceConn = alice.connect(options)
        val bobConn = bob.connect(options)
        val aliceEvents = Events()
        val bobEvents = Events()
        val handles = listOf(aliceConn.addListener(aliceEvents), bobConn.addListener(bobEvents))
        aliceEvents.awaitConnected()
        bobEvents.awaitConnected()

        val before = aliceConn.sendAndWait(room, SendMessage("", "before the restart", null, emptyList()))
        expect(bobEvents.await("the first message") { createdBody(it, room) } == "before the restart") { "bob hears it" }

        server.stop()
        bobEvents.await("reconnecting") { (it as? ConnectionEvent.State)?.state as? ConnectionState.Reconnecting }
        aliceEvents.await("reconnecting") { (it as? ConnectionEvent.State)?.state as? ConnectionState.Reconnecting }
        val queued = aliceConn.send(room, "queued while the server is down")
        val pending = aliceConn.pendingSends()
        expect(pending.map { it.message.clientId } == listOf(queued)) { "the outbox shows the queued send: $pending" }

        server.start()
        // Posted over REST as soon as the server is back, likely before bob has resumed, by a
        // client made now (no connection pooled from before the restart) from carol's tokens.
        Client(server.url, MemoryTokenStore(carol.tokens))
            .sendMessage(room, SendMessage("", "posted after the restart", null, emptyList()))
        val sent = aliceEvents.await("the queued send's ack") {
            (it as? ConnectionEvent.Sent)?.takeIf { s -> s.clientId == queued }
        }
        expect(aliceConn.pendingSends().isEmpty()) { "the outbox drained" }

        // Bob gets every message once, in sequence order, with no gap, whether replayed on
        // resume or delivered live.
        val received = mutableListOf<Message>()
        while (received.size < 2) {
            received += bobEvents.await("the messages after the restart") {
                ((it as? ConnectionEvent.Server)?.event as? Event.MessageCreated)?.takeIf { c -> c.roomId == room }?.message
            }
        }
        val bodies = received.map { it.body }.toSet()
        expect(bodies == setOf("queued while the server is down", "posted after the restart")) { "got $bodies" }
        val seqs = received.map { it.seq }
        expect(seqs == listOf(before.seq + 1, before.seq + 2)) { "no gap and no repeat: $seqs after ${before.seq}" }
        expect(received.any { it.id == sent.message.id }) { "the queued message arrived as stored" }
        expect(bobEvents.seen.any { e ->
            ((e as? ConnectionEvent.State)?.state as? ConnectionState.Connected)?.resumed == true
        }) { "bob resumed" }
        expect(bobConn.positions().any { it.roomId == room && it.seq >= before.seq + 2 }) { "positions moved on" }

        handles.forEach { it.cancel() }
        aliceConn.disconnect()
        bobConn.disconnect()
    }
}

fun main(args: Array<String>) {
    val bin = System.getenv("JECO_SERVER_BIN") ?: error("set JECO_SERVER_BIN")
    val work = File(System.getenv("JECO_TEST_DIR") ?: error("set JECO_TEST_DIR"))
    val data = File(work, "data").also { it.deleteRecursively(); it.mkdirs() }
    val server = Server(bin, data, File(work, "server.log"))
    server.start()
    val suite = Suite(server)
    val tests: List<Pair<String, () -> Unit>> = listOf(
        "sign in and the token store" to suite::signInAndTheTokenStore,
        "errors carry the protocol code" to suite::errorsCarryTheProtocolCode,
        "send and receive through a listener" to suite::sendAndReceiveThroughAListener,
        "files go up and come back" to suite::filesGoUpAndComeBack,
        "reconnects after a server restart with nothing lost" to suite::reconnectsAfterAServerRestartWithNothingLost,
    ).filter { (name, _) -> args.isEmpty() || args.any { name.contains(it) } }
    var passed = 0
    var failed = 0
    for ((name, test) in tests) {
        try {
            test()
            passed++
            println("ok    $name")
        } catch (e: Throwable) {
            failed++
            println("FAIL  $name: $e")
            e.printStackTrace(System.out)
        }
    }
    server.stop()
    println("kotlin: $passed passed, $failed failed")
    exitProcess(if (failed == 0 && passed > 0) 0 else 1)
}
