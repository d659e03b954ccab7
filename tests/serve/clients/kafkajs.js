// kafkajs against `klog serve`: node kafkajs.js COMMAND BOOTSTRAP ...
//
// topics, produce TOPIC N PARTITIONS (codecs: none and gzip, the ones kafkajs has without
// plugins), consume TOPIC PARTITIONS N, times TOPIC PARTITIONS TS..., group GROUP TOPIC IDLE
// LIMIT, as confluent.py.
// kafkajs's consumer always joins a group; `consume` drives its fetch path directly
// (the cluster and broker objects its consumer uses), from offset 0 of each partition.
'use strict'
const { Kafka, CompressionTypes, logLevel } = require('kafkajs')

const record = (i, partitions) => ({
  partition: i % partitions,
  key: i % 10 === 3 ? null : `k${i}`,
  value: i % 7 === 5 && i % 10 !== 3 ? null : `v${i}` + 'x'.repeat(i % 50),
  headers: [['h', String(i)]].concat(i % 3 === 0 ? [['e', '']] : []),
})
const line = (o) => JSON.stringify(o)
const dec = (b) => (b == null ? null : b.toString())

async function main() {
  const [cmd, bs, ...args] = process.argv.slice(2)
  const kafka = new Kafka({ clientId: 'klog-test', brokers: [bs], logLevel: logLevel.ERROR })
  if (cmd === 'topics') {
    const admin = kafka.admin()
    await admin.connect()
    const md = await admin.fetchTopicMetadata()
    const out = {}
    for (const t of md.topics) out[t.name] = t.partitions.length
    console.log(JSON.stringify(out))
    await admin.disconnect()
  } else if (cmd === 'produce') {
    const [topic, n, partitions] = [args[0], Number(args[1]), Number(args[2])]
    const codecs = [CompressionTypes.None, CompressionTypes.GZIP]
    const per = Math.ceil(n / codecs.length)
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    const out = []
    for (let j = 0; j < codecs.length; j++) {
      for (let start = j * per; start < Math.min(n, (j + 1) * per); start += 1000) {
        const messages = []
        for (let i = start; i < Math.min(start + 1000, (j + 1) * per, n); i++) {
          const r = record(i, partitions)
          const headers = {}
          for (const [k, v] of r.headers) headers[k] = v
          messages.push({ partition: r.partition, key: r.key, value: r.value, headers })
          out.push(line({ partition: r.partition, key: r.key, value: r.value, headers: r.headers }))
        }
        await producer.send({ topic, messages, compression: codecs[j], acks: -1 })
      }
    }
    await producer.disconnect()
    process.stdout.write(out.join('\n') + '\n')
  } else if (cmd === 'consume') {
    const [topic, partitions, n] = [args[0], Number(args[1]), Number(args[2])]
    const create = Object.getOwnPropertySymbols(kafka).find((s) =>
      s.toString().includes('createCluster'))
    const cluster = kafka[create]({})
    await cluster.connect()
    await cluster.addTargetTopic(topic)
    const out = []
    for (let p = 0; p < partitions; p++) {
      const leader = cluster.findTopicPartitionMetadata(topic).find((m) => m.partitionId === p).leader
      const broker = await cluster.findBroker({ nodeId: String(leader) })
      let offset = 0
      for (;;) {
        const resp = await broker.fetch({
          maxWaitTime: 100, minBytes: 1, maxBytes: 4 << 20,
          topics: [{ topic, partitions: [{ partition: p, fetchOffset: String(offset), maxBytes: 1 << 20 }] }],
        })
        const part = resp.responses[0].partitions[0]
        if (part.errorCode !== 0) throw new Error(`fetch error ${part.errorCode}`)
        const msgs = part.messages.filter((m) => Number(m.offset) >= offset)
        if (msgs.length === 0) break
        for (const m of msgs) {
          const headers = Object.entries(m.headers || {}).map(([k, v]) => [k, dec(v)])
          out.push(line({ partition: p, offset: Number(m.offset), timestamp: Number(m.timestamp),
            key: dec(m.key), value: dec(m.value), headers }))
        }
        offset = Number(msgs[msgs.length - 1].offset) + 1
      }
    }
    await cluster.disconnect()
    process.stdout.write(out.join('\n') + (out.length ? '\n' : ''))
    if (out.length < n) throw new Error(`consumed ${out.length} of ${n}`)
  } else if (cmd === 'times') {
    const [topic, partitions] = [args[0], Number(args[1])]
    const admin = kafka.admin()
    await admin.connect()
    for (const ts of args.slice(2)) {
      const found = await admin.fetchTopicOffsetsByTimestamp(topic, Number(ts))
      found.sort((a, b) => a.partition - b.partition)
      for (const f of found.slice(0, partitions)) {
        console.log(JSON.stringify({ partition: f.partition, timestamp: Number(ts), offset: Number(f.offset) }))
      }
    }
    await admin.disconnect()
  } else if (cmd === 'group') {
    const [group, topic, idle, limit] = [args[0], args[1], Number(args[2]), Number(args[3])]
    const start = Date.now()
    const consumer = kafka.consumer({ groupId: group })
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const parts = (e.payload.memberAssignment[topic] || []).slice().sort((a, b) => a - b)
      console.log(line({ assigned: parts }))
    })
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    let last = null
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const now = Date.now()
        if (last === null) console.log(line({ first_ms: now - start }))
        console.log(line({ partition, offset: Number(message.offset), value: dec(message.value) }))
        last = now
        await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }])
      },
    })
    await new Promise((resolve) => {
      const timer = setInterval(() => {
        const now = Date.now()
        if ((last !== null && now - last > idle * 1000) || now - start > limit * 1000) {
          clearInterval(timer)
          resolve()
        }
      }, 100)
    })
    await consumer.disconnect()
  } else {
    throw new Error(`unknown command ${cmd}`)
  }
}

main().catch((e) => { console.error(e); process.exit(1) })
