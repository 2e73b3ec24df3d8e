import { useThree } from '@react-three/fiber'
import { type ReactNode, useLayoutEffect, useRef } from 'react'
import { Box3, type Group, PerspectiveCamera, Vector3 } from 'three'
import type { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js'

/**
 * Frames its children: the camera moves back along its line of sight until they fit (with
 * `margin` to spare), near and far planes follow their size, and the orbit turns about their
 * centre. Done at once, before their first frame, and again on a resize. drei's Bounds eases
 * the camera in over a second instead, drawing all the while: with software WebGL that second
 * is the CPU at full load, and the model's first frame is not yet framed.
 */
export function FitView({ margin, children }: { margin: number; children: ReactNode }): React.JSX.Element {
  const group = useRef<Group>(null)
  const camera = useThree((state) => state.camera)
  const size = useThree((state) => state.size)
  const controls = useThree((state) => state.controls) as OrbitControls | null
  const invalidate = useThree((state) => state.invalidate)
  // A layout effect runs after its children's (Center has placed the model) and before the frame.
  useLayoutEffect(() => {
    const target = group.current
    if (!target || !(camera instanceof PerspectiveCamera) || size.width === 0) return
    target.updateWorldMatrix(true, true)
    const box = new Box3().setFromObject(target)
    if (box.isEmpty()) return
    const center = box.getCenter(new Vector3())
    const extent = box.getSize(new Vector3())
    const largest = Math.max(extent.x, extent.y, extent.z)
    const heightDistance = largest / (2 * Math.atan((Math.PI * camera.fov) / 360))
    const distance = margin * Math.max(heightDistance, heightDistance / camera.aspect)
    const direction = camera.position.clone().sub(center).normalize()
    camera.position.copy(center).addScaledVector(direction, distance)
    camera.near = distance / 100
    camera.far = distance * 100
    camera.lookAt(center)
    camera.updateProjectionMatrix()
    // Linked views (Compare) zoom relative to the distance each was framed at.
    camera.userData.fittedDistance = distance
    if (controls) {
      controls.target.copy(center)
      controls.maxDistance = distance * 10
      controls.update()
    }
    invalidate()
  }, [camera, controls, size, margin, invalidate])
  return <group ref={group}>{children}</group>
}
