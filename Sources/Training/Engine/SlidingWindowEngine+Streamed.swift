import Backends
import Datasets
import ModelFormats
import Support

/// The streamed placement of the embedding and LM head (`ModelLevelPlacement.streamed`,
/// `StreamedModelLevel`): the embedding's rows gathered on the host, the LM head's weights in
/// vocabulary chunks through the H2D queue twice per micro-batch (the cross-entropy's two
/// passes), their gradients chunk by chunk through the D2H queue to the AdamW thread.
extension SlidingWindowEngine {
    /// Gathers the micro-batch's embedding rows of `version` on the host, piece by piece into
    /// the gather buffers in turn (each after its previous copy), rounded to the compute type as
    /// the device's table would hold them (bf16: round to nearest even, widened back), and
    /// enqueues each piece's copy into hidden[0] after the compute that last read it; the compute
    /// queue waits for the last. A part whose update `version` has not run is held back
    /// meanwhile: its rows come from what that update will write (`AdamW.updatedValues`), and
    /// it runs after the other units' updates (the layers', which the forward needs next).
    /// `whileHeld` runs once they are held, before the gather.
    func loadGatheredEmbedding(_ batch: MicroBatch, version: Int, streamed s: StreamedModelLevel,
                               whileHeld: () -> Void) {
        let t = model.embedding, C = config.hiddenSize, n = batch.batchSize * batch.seqLen
        guard let registration = t.registration else { preconditionFailure("the streamed embedding has host masters") }
        let (held, waited) = worker.hold(units: t.parts.map(\.unit), count: version)
        if waited { recording?.noteOptimizerWait() }
        defer { for (part, h) in zip(t.parts, held) where h != nil { worker.release(layer: part.unit) } }
        whileHeld()
        let masters = UnsafePointer(registration.bytes.assumingMemoryBound(to: Float.self))
        let partElements = t.parts[0].range.count, optimizer = worker.optimizer
        let row = { (id: Int, dst: UnsafeMutablePointer<Float>) in
            let p = min(id * C / partElements, t.parts.count - 1), part = t.parts[p]
            guard let (job, step) = held[p] else { return dst.update(from: masters + id * C, count: C) }
            let u = self.worker.unit(part.unit), offset = id * C - part.range.lowerBound
            let decays = u.segments.segments.first { $0.range.contains(offset) }?.decays ?? true
            optimizer.updatedValues(params: u.masters, m: u.m, v: u.v, gradients: job.gradients,
                                    range: offset..<(offset + C), decays: decays, step: step,
                                    learningRate: job.learningRate, gradScale: job.gradScale, into: dst)
        }
        hostToDevice.wait(for: hiddenReleased[0])
        for (piece, first) in stride(from: 0, to: n, by: s.gatherTokens).enumerated() {
            let b = piece % s.gather.count, tokens = min(s.gatherTokens, n - first)
            s.gatherSent[b].synchronize()
            EmbeddingRowGather.gather(ids: batch.inputIds[first..<(first + tokens)], channels: C, storage: storage,
                                      into: s.gather[b].bytes.assumingMemoryBound(to: Float.self), pool: optimizerPool,
                                      row: row)
            onHostToDevice(bytes: tokens * C * 4) {
                backend.copyToDevice(from: s.gather[b].bytes, to: hidden[0].ref(first * C), bytes: tokens * C * 4,
                                     on: hostToDevice)
            }
            recordCopies(s.gatherSent[b], on: .hostToDevice)
            if first + tokens == n { computeWaits(for: s.gatherSent[b], on: .hostToDevice) }
        }
    }

    /// The LM head's cross-entropy over its vocabulary chunks (`StreamedModelLevel`): pass 1
    /// takes each row's max, sum of exponentials and target logit, the loss follows, pass 2 (in
    /// reverse chunk order) gives dNormedFinal (f32, summed over the chunks) and each chunk's
    /// gradient, sent to its landing buffer (where the next micro-batch's backward takes the
    /// partial sum back from).
    func streamedCrossEntropy(_ head: ModelLevelParameters.Tensor, index: Int, last: Bool, scale: Float,
                              version: Int, learningRate: Double, tokens n: Int, streamed s: StreamedModelLevel) {
        let C = config.hiddenSize
        onCompute {
            backend.fill(s.rowMax.ref(), count: n, value: -.infinity)
            backend.fill(s.rowSum.ref(), count: n, value: 0)
            backend.fill(s.targetLogit.ref(), count: n, value: 0)
        }
        for (c, part) in head.parts.enumerated() {
            let b = loadHeadChunk(c, of: head, version: version, streamed: s)
            let rows = part.range.lowerBound / C..<part.range.upperBound / C
            onCompute {
                backend.vocabChunkStatistics(rowMax: s.rowMax.ref(), rowSum: s.rowSum.ref(), targetLogit: s.targetLogit.ref(),
                                             logits: s.logits.ref(), hidden: normedFinal.ref(), weight: s.weightChunks[b].ref(),
                                             targets: targets.ref(), tokens: n, channels: C, vocabStart: rows.lowerBound,
                                             vocabRows: rows.count)
            }
            s.weightReleased[b].record(on: compute)
        }
        onCompute {
            backend.vocabChunkLoss(lossSum: lossSums.ref(index), rowMax: s.rowMax.ref(), rowSum: s.rowSum.ref(),
                                   targetLogit: s.targetLogit.ref(), targets: targets.ref(), tokens: n)
        }
        let slot = squareSumSlot(of: head)
        for (c, part) in head.parts.enumerated().reversed() {
            let b = loadHeadChunk(c, of: head, version: version, streamed: s)
            let rows = part.range.lowerBound / C..<part.range.upperBound / C
            let (g, r) = takeGradientChunk(for: part, index: index, streamed: s)
            onCompute {
                backend.vocabChunkBackward(dHidden: dNormedFinal.ref(), dWeight: s.gradientChunks[g].ref(),
                                           logits: s.logits.ref(), dlogits: s.dlogits.ref(), hidden: normedFinal.ref(),
                                           weight: s.weightChunks[b].ref(), targets: targets.ref(), rowMax: s.rowMax.ref(),
                                           rowSum: s.rowSum.ref(), tokens: n, channels: C, vocabStart: rows.lowerBound,
                                           vocabRows: rows.count, scale: scale, accumulate: c != head.parts.count - 1)
                if last { backend.sumOfSquares(s.gradientChunks[g].ref(), count: part.range.count, into: squareSums.ref(slot)) }
            }
            s.weightReleased[b].record(on: compute)
            sendGradientChunk(g, part: part, landing: r, version: version, learningRate: learningRate, streamed: s)
        }
    }

    /// The embedding's gradient (from dResidual, its padding lookups dropped), summed from the
    /// micro-batch's tokens grouped by row (`BatchRows`, uploaded once): as the batch's distinct
    /// rows where they fit the ring of one micro-batch without clipping (`sendEmbeddingRows`),
    /// else chunk by chunk of table rows, each sent to its landing buffer.
    func streamedEmbeddingBackward(index: Int, last: Bool, version: Int, learningRate: Double, inputIds: [Int32],
                                   streamed s: StreamedModelLevel) {
        let t = model.embedding, C = config.hiddenSize, slot = squareSumSlot(of: t), n = inputIds.count
        let rows = BatchRows(ids: inputIds, vocab: config.vocabSize)
        backend.upload(rows.deviceLayout, to: s.rowGroups.ref())
        let groups = rows.deviceRefs(at: s.rowGroups.ref())
        if index == 0, last, sendsEmbeddingRows, C % 8 == 0, t.parts.allSatisfy({ ownLanding[$0.unit] == nil }) {
            let room = embeddingRowRoom(rowBytes: C * 4)
            if rows.rows.count <= room.reduce(0, { $0 + $1.rows }) {
                return sendEmbeddingRows(rows, groups, room: room, version: version, learningRate: learningRate, streamed: s)
            }
        }
        for part in t.parts {
            let (g, r) = takeGradientChunk(for: part, index: index, streamed: s)
            let partRows = part.range.lowerBound / C..<part.range.upperBound / C
            onCompute {
                backend.embeddingBackwardGroups(dRows: s.gradientChunks[g].ref(), dOut: dResidual.ref(),
                                                tokenOrder: groups.tokenOrder, rowStarts: groups.rowStarts,
                                                groupRows: groups.rows, groups: rows.groups(inRows: partRows), tokens: n,
                                                channels: C, firstRow: partRows.lowerBound, rows: partRows.count)
                if last { backend.sumOfSquares(s.gradientChunks[g].ref(), count: part.range.count, into: squareSums.ref(slot)) }
            }
            sendGradientChunk(g, part: part, landing: r, version: version, learningRate: learningRate, streamed: s)
        }
    }

    /// The embedding's gradient of one micro-batch (no clipping: the ring) as its distinct rows
    /// only: up to Vc groups at a time are summed in a gradient chunk (one row each, in order) and
    /// copied into `room` (landing buffers, filled one after the other); then every part's update
    /// is submitted with its rows' gradients there and zero for the others (`RowGradients`: the
    /// dense update, bit for bit). The D2H carries the batch's rows instead of the whole table,
    /// and the backward does not wait for the parts' updates to free landing buffers.
    private func sendEmbeddingRows(_ rows: BatchRows, _ groups: BatchRows.DeviceRefs, room: [(landing: Int, rows: Int)],
                                   version: Int, learningRate: Double, streamed s: StreamedModelLevel) {
        let t = model.embedding, C = config.hiddenSize, slot = squareSumSlot(of: t), n = rows.tokenOrder.count
        var gradientRows = [UnsafePointer<Float>?](repeating: nil, count: config.vocabSize)
        var used: [Int] = []
        var first = 0, filled = 0    // groups sent; rows of the current landing buffer taken
        while first < rows.rows.count {
            let (r, capacity) = room[used.count]
            let count = min(s.chunkRows, rows.rows.count - first, capacity - filled)
            if filled == 0, let user = landingUser[r], worker.waitForUpdate(layer: user.unit, count: user.updates) {
                recording?.noteOptimizerWait()
            }
            let g = s.takeGradientChunk()
            computeWaits(for: s.gradientSent[g], on: .deviceToHost)
            onCompute {
                backend.fill(s.gradientChunks[g].ref(), count: count * C, value: 0)
                backend.embeddingBackwardGroups(dRows: s.gradientChunks[g].ref(), dOut: dResidual.ref(),
                                                tokenOrder: groups.tokenOrder, rowStarts: groups.rowStarts, groupRows: nil,
                                                groups: first..<(first + count), tokens: n, channels: C, firstRow: 0,
                                                rows: count)
                backend.sumOfSquares(s.gradientChunks[g].ref(), count: count * C, into: squareSums.ref(slot))
            }
            s.gradientReady[g].record(on: compute)
            deviceToHost.wait(for: s.gradientReady[g])
            let destination = landing[r].bytes + filled * C * 4
            onDeviceToHost(bytes: count * C * 4) {
                backend.copyToHost(from: s.gradientChunks[g].ref(), to: destination, bytes: count * C * 4, on: deviceToHost)
            }
            recordCopies(s.gradientSent[g], on: .deviceToHost)
            recordCopies(landed[r], on: .deviceToHost)
            let base = UnsafePointer(destination.assumingMemoryBound(to: Float.self))
            for j in 0..<count { gradientRows[Int(rows.rows[first + j])] = base + j * C }
            first += count
            filled += count
            if filled == capacity || first == rows.rows.count {
                used.append(r)
                filled = 0
            }
        }
        guard let lastLanding = used.last else { preconditionFailure("a micro-batch has tokens") }
        embeddingRowLandings = used.count
        for part in t.parts {
            let partRows = part.range.lowerBound / C..<part.range.upperBound / C
            worker.submit(.init(layer: part.unit, landed: landed[lastLanding],
                                gradients: .rows(RowGradients(rows: Array(gradientRows[partRows]), width: C)),
                                learningRate: learningRate, gradScale: 1))
        }
        // The parts run in submission order (one rank; held ones all last): the last one frees them all.
        guard let lastUnit = t.parts.last?.unit else { preconditionFailure("the embedding has parts") }
        for r in used { landingUser[r] = (lastUnit, version + 1) }
    }

    /// Enqueues H2D of chunk c of the LM head's compute weights of `version` into weight chunk
    /// buffer c mod 2 (after the AdamW of the chunk and the compute that last read the buffer),
    /// unless already there; the compute queue waits for it. Returns the buffer.
    func loadHeadChunk(_ c: Int, of head: ModelLevelParameters.Tensor, version: Int,
                               streamed s: StreamedModelLevel) -> Int {
        let b = c % 2, part = head.parts[c]
        if let content = s.weightContent[b], content.part == c, content.version == version {
            computeWaits(for: s.weightLoaded[b], on: .hostToDevice)
            return b
        }
        guard let registration = head.registration else { preconditionFailure("the streamed LM head has host masters") }
        if worker.waitForUpdate(layer: part.unit, count: version) { recording?.noteOptimizerWait() }
        hostToDevice.wait(for: s.weightReleased[b])
        let masters = UnsafePointer(registration.bytes.assumingMemoryBound(to: Float.self))
        onHostToDevice(bytes: part.range.count * 4) {
            backend.copyToDevice(converting: masters + part.range.lowerBound, to: s.weightChunks[b].ref(),
                                 count: part.range.count, scratch: uploadScratch.ref(), on: hostToDevice)
        }
        recordCopies(s.weightLoaded[b], on: .hostToDevice)
        s.weightContent[b] = (c, version)
        computeWaits(for: s.weightLoaded[b], on: .hostToDevice)
        return b
    }

    /// The next gradient chunk buffer for a streamed part, once its last content has left:
    /// zeroed for the first micro-batch, else holding the part's partial sum (from its landing
    /// buffer, its own: the ring serves one micro-batch per step). Returns (buffer, landing buffer).
    func takeGradientChunk(for part: ModelLevelParameters.Part, index: Int,
                           streamed s: StreamedModelLevel) -> (Int, Int) {
        precondition(index == 0 || ownLanding[part.unit] != nil, "accumulation needs a landing buffer per streamed part")
        let r = ownLanding[part.unit] ?? takeStreamedLanding()
        let g = s.takeGradientChunk()
        if index == 0 {
            computeWaits(for: s.gradientSent[g], on: .deviceToHost)
            onCompute { backend.fill(s.gradientChunks[g].ref(), count: part.range.count, value: 0) }
        } else {
            hostToDevice.wait(for: s.gradientSent[g])
            hostToDevice.wait(for: landed[r])
            onHostToDevice(bytes: part.range.count * 4) {
                backend.copyToDevice(from: landing[r].bytes, to: s.gradientChunks[g].ref(), bytes: part.range.count * 4,
                                     on: hostToDevice)
            }
            recordCopies(s.gradientLoaded[g], on: .hostToDevice)
            computeWaits(for: s.gradientLoaded[g], on: .hostToDevice)
        }
        return (g, r)
    }

    /// Enqueues D2H of gradient chunk g (a part's sum so far) into landing buffer r, once the
    /// AdamW that last read the buffer is done. A buffer of the streamed ring holds the part's
    /// final gradient (one micro-batch, no clipping): its update number version + 1 starts now.
    func sendGradientChunk(_ g: Int, part: ModelLevelParameters.Part, landing r: Int, version: Int,
                           learningRate: Double, streamed s: StreamedModelLevel) {
        if let user = landingUser[r], worker.waitForUpdate(layer: user.unit, count: user.updates) {
            recording?.noteOptimizerWait()
        }
        s.gradientReady[g].record(on: compute)
        deviceToHost.wait(for: s.gradientReady[g])
        onDeviceToHost(bytes: part.range.count * 4) {
            backend.copyToHost(from: s.gradientChunks[g].ref(), to: landing[r].bytes, bytes: part.range.count * 4,
                               on: deviceToHost)
        }
        recordCopies(s.gradientSent[g], on: .deviceToHost)
        recordCopies(landed[r], on: .deviceToHost)
        if streamedLanding.contains(r) {
            submit(unit: part.unit, landing: r, version: version, learningRate: learningRate, gradScale: 1)
        }
    }
}
