import Backends
import ModelFormats

/// References to every tensor of one decoder layer inside its flat buffer (offsets from
/// `LayerLayout`). The same type addresses a layer's weights and its gradients, which share
/// the layout. Optional tensors are nil when the family/config has none.
struct DecoderLayerTensors {
    let inputNorm: TensorRef        // (C)
    let qProj: TensorRef            // (H·D, C)
    let qBias: TensorRef?           // (H·D)
    let kProj: TensorRef            // (Hkv·D, C)
    let kBias: TensorRef?           // (Hkv·D)
    let vProj: TensorRef            // (Hkv·D, C)
    let vBias: TensorRef?           // (Hkv·D)
    let oProj: TensorRef            // (C, H·D)
    let oBias: TensorRef?           // (C)
    let qNorm: TensorRef?           // (D)
    let kNorm: TensorRef?           // (D)
    let postAttentionNorm: TensorRef // (C)
    let gateProj: TensorRef         // (I, C)
    let gateBias: TensorRef?        // (I)
    let upProj: TensorRef           // (I, C)
    let upBias: TensorRef?          // (I)
    let downProj: TensorRef         // (C, I)
    let downBias: TensorRef?        // (C)

    /// `buffer` holds `layout.count` elements, starting at `offset`; the norm weights come
    /// from `norms` when given (a bf16 model's f32 norms).
    init(layout: LayerLayout, buffer: any DeviceBuffer, offset: Int = 0, norms: NormWeightCopies? = nil) {
        func optional(_ name: String) -> TensorRef? {
            norms?.ref(name) ?? layout.slot(name).map { buffer.ref(offset + $0.offset) }
        }
        func required(_ name: String) -> TensorRef {
            guard let ref = optional(name) else { preconditionFailure("LayerLayout has no \(name)") }
            return ref
        }
        inputNorm = required("input_layernorm.weight")
        qProj = required("self_attn.q_proj.weight")
        qBias = optional("self_attn.q_proj.bias")
        kProj = required("self_attn.k_proj.weight")
        kBias = optional("self_attn.k_proj.bias")
        vProj = required("self_attn.v_proj.weight")
        vBias = optional("self_attn.v_proj.bias")
        oProj = required("self_attn.o_proj.weight")
        oBias = optional("self_attn.o_proj.bias")
        qNorm = optional("self_attn.q_norm.weight")
        kNorm = optional("self_attn.k_norm.weight")
        postAttentionNorm = required("post_attention_layernorm.weight")
        gateProj = required("mlp.gate_proj.weight")
        gateBias = optional("mlp.gate_proj.bias")
        upProj = required("mlp.up_proj.weight")
        upBias = optional("mlp.up_proj.bias")
        downProj = required("mlp.down_proj.weight")
        downBias = optional("mlp.down_proj.bias")
    }
}
