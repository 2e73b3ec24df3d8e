import { describe, expect, it } from 'vitest'
import { builtinModelName, canonicalModelName, modelFromFlags, PUBLISHED_MODELS } from '../../src/shared/models'

describe('model names', () => {
  it("keeps a published model's spelling whatever case it was typed in, and any other name as typed", () => {
    expect(canonicalModelName(' hunyuan3d-2MINI-turbo ')).toBe('Hunyuan3D-2mini-Turbo')
    expect(PUBLISHED_MODELS.map((name) => canonicalModelName(name.toUpperCase()))).toEqual([...PUBLISHED_MODELS])
    expect(canonicalModelName('My   fine-tune v3')).toBe('My fine-tune v3')
    expect(builtinModelName('1.0.0')).toBe('MeshCache builtin 1.0.0')
  })

  it("names upstream's default for each variant when no flag says otherwise", () => {
    expect(modelFromFlags('2.0')).toBe('Hunyuan3D-2mini-Turbo')
    expect(modelFromFlags('2.1')).toBe('Hunyuan3D-2.1')
    expect(modelFromFlags('2.0', { multiView: true })).toBe('Hunyuan3D-2mv')
  })

  it('names the weights the launch flags load: published ones by name, others by folder, with what else changes the output', () => {
    expect(modelFromFlags('2.0', { modelPath: 'tencent/Hunyuan3D-2', subfolder: 'hunyuan3d-dit-v2-0' })).toBe(
      'Hunyuan3D-2',
    )
    expect(modelFromFlags('2.0', { subfolder: 'hunyuan3d-dit-v2-mini' })).toBe('Hunyuan3D-2mini')
    // 2.0's server loads its fixed subfolder from whatever model_path it is given.
    expect(modelFromFlags('2.0', { modelPath: 'tencent/Hunyuan3D-2' })).toBe(
      'tencent/Hunyuan3D-2/hunyuan3d-dit-v2-mini-turbo',
    )
    expect(modelFromFlags('2.0', { texModelPath: 'me/my-paint' })).toBe('Hunyuan3D-2mini-Turbo (texture me/my-paint)')
    expect(modelFromFlags('2.0', { texModelPath: 'tencent/Hunyuan3D-2' })).toBe('Hunyuan3D-2mini-Turbo')
    expect(modelFromFlags('2.1', { flashvdm: true, mcAlgo: 'dmc' })).toBe('Hunyuan3D-2.1 (flashvdm, mc_algo dmc)')
    expect(modelFromFlags('2.1', { mcAlgo: 'mc' })).toBe('Hunyuan3D-2.1')
    // Flags of the other variant change nothing (its api_server has no such flag).
    expect(modelFromFlags('2.0', { flashvdm: true })).toBe('Hunyuan3D-2mini-Turbo')
  })
})
